//! The database schema, shared by both backends (written by hand; keep it in step with `migrations/`).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        is_active -> Bool,
        is_superuser -> Bool,
        session_version -> Integer,
        date_joined -> Timestamp,
        last_login -> Nullable<Timestamp>,
        email_normalized -> Text,
    }
}

diesel::table! {
    user_emails (id) {
        id -> BigInt,
        user_id -> BigInt,
        email -> Text,
        is_verified -> Bool,
        validation_hash -> Text,
        date_hash_added -> Timestamp,
        email_normalized -> Text,
    }
}

diesel::table! {
    user_permissions (id) {
        id -> BigInt,
        user_id -> BigInt,
        permission -> Text,
    }
}

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        slug -> Text,
        status -> Integer,
        flags -> BigInt,
        default_role -> Text,
        date_added -> Timestamp,
        updated_at -> Timestamp,
        deletion_scheduled_at -> Nullable<Timestamp>,
        options_version -> BigInt,
    }
}

diesel::table! {
    organization_members (id) {
        id -> BigInt,
        organization_id -> BigInt,
        user_id -> Nullable<BigInt>,
        email -> Nullable<Text>,
        role -> Text,
        token -> Nullable<Text>,
        token_expires_at -> Nullable<Timestamp>,
        date_added -> Timestamp,
        email_normalized -> Nullable<Text>,
        role_rank -> Integer,
        sort_address -> Text,
    }
}

diesel::table! {
    organization_options (id) {
        id -> BigInt,
        organization_id -> BigInt,
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    organization_slug_redirects (id) {
        id -> BigInt,
        slug -> Text,
        organization_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    files (id) {
        id -> BigInt,
        name -> Text,
        file_type -> Text,
        content_type -> Text,
        size -> BigInt,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    file_thumbnails (id) {
        id -> BigInt,
        file_id -> BigInt,
        size -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    organization_avatars (id) {
        id -> BigInt,
        organization_id -> BigInt,
        avatar_type -> SmallInt,
        file_id -> Nullable<BigInt>,
        ident -> Text,
    }
}

diesel::table! {
    audit_log_entries (id) {
        id -> BigInt,
        organization_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        actor_is_staff -> Bool,
        ip_address -> Nullable<Text>,
        event -> Integer,
        target_object -> Nullable<BigInt>,
        target_user_id -> Nullable<BigInt>,
        data -> Text,
        datetime -> Timestamp,
    }
}

diesel::table! {
    instance_audit_entries (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        ip_address -> Nullable<Text>,
        event -> Text,
        target_user_id -> Nullable<BigInt>,
        data -> Text,
        datetime -> Timestamp,
    }
}

diesel::table! {
    authenticators (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        config -> Text,
        confirmed -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        last_step -> BigInt,
    }
}

diesel::table! {
    emails (id) {
        id -> BigInt,
        to_address -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        kind -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        organization_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        ip_address -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One counted attempt (a password or code check, an invitation) per row, per scope.
    rate_events (id) {
        id -> BigInt,
        scope -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        key_hash -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    password_resets (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_last_characters -> Text,
        scopes -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    org_auth_tokens (id) {
        id -> BigInt,
        organization_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_last_characters -> Text,
        scopes -> Text,
        created_by_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        deactivated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    setup_tokens (id) {
        id -> BigInt,
        token -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(user_permissions -> users (user_id));
diesel::joinable!(authenticators -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(org_auth_tokens -> organizations (organization_id));
diesel::joinable!(organization_members -> organizations (organization_id));
diesel::joinable!(organization_members -> users (user_id));
diesel::joinable!(organization_options -> organizations (organization_id));
diesel::joinable!(audit_log_entries -> organizations (organization_id));
diesel::joinable!(organization_slug_redirects -> organizations (organization_id));
diesel::joinable!(organization_avatars -> organizations (organization_id));
diesel::joinable!(organization_avatars -> files (file_id));
diesel::joinable!(file_thumbnails -> files (file_id));

diesel::table! {
    relays (id) {
        id -> BigInt,
        relay_id -> Text,
        public_key -> Text,
        is_internal -> Bool,
        first_seen -> Timestamp,
    }
}

diesel::table! {
    relay_usage (id) {
        id -> BigInt,
        relay_id -> Text,
        version -> Text,
        public_key -> Text,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
    }
}

diesel::table! {
    relay_challenges_used (nonce) {
        nonce -> Text,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_emails,
    user_permissions,
    organizations,
    organization_members,
    organization_options,
    organization_slug_redirects,
    files,
    file_thumbnails,
    organization_avatars,
    audit_log_entries,
    instance_audit_entries,
    authenticators,
    emails,
    jobs,
    rate_events,
    sessions,
    password_resets,
    api_tokens,
    org_auth_tokens,
    setup_tokens,
    relays,
    relay_usage,
    relay_challenges_used,
);
