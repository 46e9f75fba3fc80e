// @generated automatically by Diesel CLI.

diesel::table! {
    access_tokens (digest) {
        digest -> Binary,
        session_id -> Text,
        client_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_code_dpop (digest) {
        digest -> Binary,
        jkt -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (digest) {
        digest -> Binary,
        client_id -> Text,
        user_id -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
        redirect_uri -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        scope -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        browser_session_id -> Nullable<Text>,
        nonce -> Nullable<Text>,
    }
}

diesel::table! {
    brokers (id) {
        id -> Text,
        name -> Text,
    }
}

diesel::table! {
    browser_sessions (digest) {
        digest -> Binary,
        id -> Text,
        user_id -> Text,
        authenticated_at -> BigInt,
        expires_at -> BigInt,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_assertion_jtis (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    client_backchannel (client_id) {
        client_id -> Text,
        backchannel_logout_uri -> Text,
        backchannel_logout_session_required -> Bool,
    }
}

diesel::table! {
    client_dpop (client_id) {
        client_id -> Text,
        dpop_bound_access_tokens -> Bool,
    }
}

diesel::table! {
    client_keys (client_id) {
        client_id -> Text,
        jwks -> Text,
    }
}

diesel::table! {
    client_logout (client_id) {
        client_id -> Text,
        post_logout_redirect_uris -> Text,
    }
}

diesel::table! {
    client_par (client_id) {
        client_id -> Text,
        require_pushed_authorization_requests -> Bool,
    }
}

diesel::table! {
    client_token_exchange (client_id) {
        client_id -> Text,
        audiences -> Text,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        secret_hash -> Nullable<Text>,
        grants -> Text,
        scope -> Text,
        access_token_lifetime_secs -> Nullable<BigInt>,
        refresh_token_lifetime_secs -> Nullable<BigInt>,
        redirect_url -> Nullable<Text>,
        broker_id -> Nullable<Text>,
        introspect_any -> Bool,
        redirect_uris -> Text,
        consent_required -> Bool,
        client_name -> Nullable<Text>,
        access_token_format -> Text,
        audience -> Nullable<Text>,
        access_token_alg -> Text,
        id_token_alg -> Text,
    }
}

diesel::table! {
    device_codes (digest) {
        digest -> Binary,
        user_code_digest -> Binary,
        client_id -> Text,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        interval_secs -> BigInt,
        last_polled_at -> Nullable<BigInt>,
        status -> Text,
        user_id -> Nullable<Text>,
        browser_session_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    dpop_proofs (digest) {
        digest -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    dual_run_counts (dialect, endpoint, kind) {
        dialect -> Text,
        endpoint -> Text,
        kind -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    dual_run_differences (id) {
        id -> BigInt,
        recorded_at -> BigInt,
        mode -> Text,
        dialect -> Text,
        endpoint -> Text,
        client_id -> Nullable<Text>,
        kinds -> Text,
        detail -> Text,
        gatehouse_answer -> Text,
        upstream_answer -> Text,
    }
}

diesel::table! {
    legacy_usage (client_id, dialect) {
        client_id -> Text,
        dialect -> Text,
        requests -> BigInt,
        first_seen -> BigInt,
        last_seen -> BigInt,
        password_grant -> BigInt,
        form_body -> BigInt,
        xml_body -> BigInt,
        windows_auth -> BigInt,
        onetime_code -> BigInt,
        katana_ticket -> BigInt,
    }
}

diesel::table! {
    login_failures (lock_key) {
        lock_key -> Text,
        failures -> BigInt,
        last_failure_at -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        member_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    onetime_codes (digest) {
        digest -> Binary,
        issuer_client_id -> Nullable<Text>,
        issuer_user_id -> Nullable<Text>,
        user_id -> Text,
        redeeming_client_id -> Text,
        broker_id -> Nullable<Text>,
        trading_account -> Nullable<Text>,
        server -> Nullable<Text>,
        payload -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        session_id -> Nullable<Text>,
        scope -> Nullable<Text>,
        source_session_id -> Nullable<Text>,
        source_token -> Nullable<Binary>,
    }
}

diesel::table! {
    pushed_requests (digest) {
        digest -> Binary,
        client_id -> Text,
        parameters -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    rate_windows (rate_key) {
        rate_key -> Text,
        window_start -> BigInt,
        hits -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (digest) {
        digest -> Binary,
        session_id -> Text,
        client_id -> Nullable<Text>,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        successor -> Nullable<Binary>,
        revoked_at -> Nullable<BigInt>,
        replayed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    server_keys (name) {
        name -> Text,
        secret -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    session_dpop (session_id) {
        session_id -> Text,
        jkt -> Text,
    }
}

diesel::table! {
    session_exchange (session_id) {
        session_id -> Text,
        audience -> Text,
        actor -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        client_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        client_key -> Nullable<Text>,
        caller_ip -> Nullable<Text>,
        created_at -> BigInt,
        last_used_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        parent_id -> Nullable<Text>,
        source_token -> Nullable<Binary>,
        expires_at -> Nullable<BigInt>,
        grant_type -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        public_jwk -> Text,
        private_key -> Binary,
        created_at -> BigInt,
        activates_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        published_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    sub_accounts (id) {
        id -> BigInt,
        member -> BigInt,
    }
}

diesel::table! {
    trading_accounts (broker_id, account, server) {
        broker_id -> Text,
        account -> Text,
        server -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        user_name -> Text,
        user_name_key -> Text,
        password_hash -> Text,
        operator -> Bool,
        editor -> Bool,
        query_all -> Bool,
        df_visible -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified -> Bool,
    }
}

diesel::joinable!(access_tokens -> sessions (session_id));
diesel::joinable!(authorization_codes -> clients (client_id));
diesel::joinable!(authorization_codes -> sessions (session_id));
diesel::joinable!(authorization_codes -> users (user_id));
diesel::joinable!(browser_sessions -> users (user_id));
diesel::joinable!(client_backchannel -> clients (client_id));
diesel::joinable!(authorization_code_dpop -> authorization_codes (digest));
diesel::joinable!(client_dpop -> clients (client_id));
diesel::joinable!(client_keys -> clients (client_id));
diesel::joinable!(client_logout -> clients (client_id));
diesel::joinable!(client_par -> clients (client_id));
diesel::joinable!(client_token_exchange -> clients (client_id));
diesel::joinable!(clients -> brokers (broker_id));
diesel::joinable!(device_codes -> clients (client_id));
diesel::joinable!(device_codes -> users (user_id));
diesel::joinable!(members -> users (user_id));
diesel::joinable!(onetime_codes -> clients (redeeming_client_id));
diesel::joinable!(onetime_codes -> sessions (session_id));
diesel::joinable!(onetime_codes -> users (user_id));
diesel::joinable!(pushed_requests -> clients (client_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(session_dpop -> sessions (session_id));
diesel::joinable!(session_exchange -> sessions (session_id));
diesel::joinable!(sessions -> clients (client_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sub_accounts -> members (member));
diesel::joinable!(trading_accounts -> brokers (broker_id));
diesel::joinable!(trading_accounts -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    authorization_code_dpop,
    access_tokens,
    authorization_codes,
    brokers,
    browser_sessions,
    client_assertion_jtis,
    client_backchannel,
    client_dpop,
    client_keys,
    client_logout,
    client_par,
    client_token_exchange,
    clients,
    device_codes,
    dpop_proofs,
    dual_run_counts,
    dual_run_differences,
    legacy_usage,
    login_failures,
    members,
    onetime_codes,
    pushed_requests,
    rate_windows,
    refresh_tokens,
    server_keys,
    session_dpop,
    session_exchange,
    sessions,
    signing_keys,
    sub_accounts,
    trading_accounts,
    users,
);
