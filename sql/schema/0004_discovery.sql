-- v4: account discovery. Hashtag timelines and account searches for a niche's terms name
-- accounts the radar does not track yet; niche_discovery records each sighting and queues
-- the best new ones.

-- one row per account and term it was found by ('#tag' for a hashtag timeline, the keyword
-- for an account search); newest sighting wins, first kept
create table core.account_discoveries (
    platform varchar not null,
    account_id varchar not null,
    term varchar not null,
    handle varchar not null,
    -- followers as the serving instance reported them (NULL when hidden)
    followers bigint,
    first_seen_at timestamp not null,
    observed_at timestamp not null
);

-- accounts chosen for tracking; live social_ingest runs read them beside config/sources.yaml
create table meta.tracking_queue (
    platform varchar not null,
    account_id varchar not null,
    handle varchar not null,
    niche varchar not null,
    term varchar not null,
    followers bigint,
    queued_at timestamp not null,
    -- the niche_discovery run whose data interval queued it
    queued_for timestamp not null,
    primary key (platform, account_id)
);
