DROP TABLE client_par;
DROP TABLE pushed_requests;
DROP TABLE client_logout;
