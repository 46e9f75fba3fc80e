DROP TABLE authorization_code_dpop;
