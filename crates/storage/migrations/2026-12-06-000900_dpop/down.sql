DROP TABLE dpop_proofs;
DROP TABLE session_dpop;
DROP TABLE session_exchange;
DROP TABLE client_dpop;
DROP TABLE client_token_exchange;
