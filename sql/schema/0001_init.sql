-- warehouse schema v1: bookkeeping (meta) and canonical entities (core).
-- all timestamps are UTC without a time zone. counts are NULL when unknown or hidden.

create schema if not exists meta;
create schema if not exists core;

-- one row per DAG run that loaded or transformed anything
create table meta.runs (
    run_id varchar primary key,
    dag_id varchar,
    data_interval_start timestamp,
    data_interval_end timestamp,
    loaded_at timestamp,
    files_loaded integer,
    rows_loaded bigint,
    rejects_loaded bigint,
    transformed_at timestamp,
    candidates integer
);

-- one row per landing file ever loaded; written in the same transaction as its rows
create table meta.loaded_files (
    path varchar primary key,
    checksum varchar not null,
    platform varchar not null,
    entity varchar not null,
    row_count bigint not null,
    run_id varchar,
    loaded_at timestamp not null
);

-- one row per (platform, scope, key): how far incremental extraction has read
create table meta.cursors (
    platform varchar not null,
    scope varchar not null,
    key varchar not null,
    cursor_value varchar,
    newest_seen_at timestamp,
    updated_at timestamp not null,
    primary key (platform, scope, key)
);

-- one row per record that failed validation, with a pointer to its source page
create table meta.rejects (
    platform varchar not null,
    entity varchar not null,
    source_path varchar not null,
    source_line integer not null,
    record_index integer not null,
    reason varchar not null,
    record varchar,
    observed_at timestamp not null,
    run_id varchar
);

create table core.accounts (
    platform varchar not null,
    account_id varchar not null,
    handle varchar not null,
    display_name varchar,
    bio varchar,
    url varchar,
    home_instance varchar,
    is_bot boolean,
    status varchar not null check (status in ('active', 'suspended', 'deleted', 'moved')),
    moved_to varchar,
    created_at timestamp,
    discovered_via varchar not null,
    first_seen_at timestamp not null,
    observed_at timestamp not null
);

create table core.account_snapshots (
    platform varchar not null,
    account_id varchar not null,
    observed_at timestamp not null,
    followers bigint,
    following bigint,
    posts_count bigint,
    follower_precision varchar not null
        check (follower_precision in ('exact', 'rounded', 'hidden'))
);

create table core.posts (
    platform varchar not null,
    post_id varchar not null,
    account_id varchar not null,
    created_at timestamp not null,
    client_created_at timestamp,
    text varchar,
    language varchar,
    hashtags varchar[],
    mentions varchar[],
    url varchar,
    kind varchar not null check (kind in ('original', 'reply', 'repost', 'quote')),
    original_post_id varchar,
    original_account_id varchar,
    first_seen_at timestamp not null,
    observed_at timestamp not null
);

create table core.post_metric_snapshots (
    platform varchar not null,
    post_id varchar not null,
    observed_at timestamp not null,
    likes bigint,
    comments bigint,
    shares bigint,
    quotes bigint,
    views bigint
);
