-- v2: posts known to be deleted. A platform says so explicitly (Bluesky getPosts omits a
-- deleted uri); the post row itself stays, so history and reruns of past days hold.

create table core.post_deletions (
    platform varchar not null,
    post_id varchar not null,
    -- when a deletion was first observed; the post counts as deleted from then on
    first_seen_at timestamp not null,
    observed_at timestamp not null
);
