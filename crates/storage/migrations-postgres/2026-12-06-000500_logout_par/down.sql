DROP TABLE client_logout;
