-- v3: state for incremental transform models.
-- A model materialised incrementally keeps its rows between runs and only computes rows
-- for new or changed inputs; it is rebuilt from scratch whenever its SQL or the config
-- files change, which this table detects by fingerprint.

create table meta.transform_state (
    model varchar primary key,
    fingerprint varchar not null,
    rebuilt_at timestamp not null,
    updated_at timestamp not null
);

-- incremental models keep their rows, so their tables are declared here, not by the runner
create schema if not exists intermediate;

create table intermediate.int_post_text_features (
    platform varchar not null,
    post_id varchar not null,
    observed_at timestamp not null,
    -- every (niche, term) and (brand, term type, term) the post matches, sorted
    niche_hits struct(niche varchar, matched_term varchar)[] not null,
    brand_hits struct(brand varchar, term_type varchar, matched_term varchar)[] not null
);
