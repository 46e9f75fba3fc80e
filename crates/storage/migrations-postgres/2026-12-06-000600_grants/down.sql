DROP TABLE device_codes;
DROP TABLE client_assertion_jtis;
DROP TABLE client_keys;
