DROP TABLE client_backchannel;
