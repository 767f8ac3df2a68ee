-- v7: cursors belong to tracked accounts alone. Before, the loader gave an account_posts
-- cursor to every author in core.posts, accounts nobody tracks included: those whose
-- posts a tracked account boosted or reposted. Once such an account was queued by
-- discovery or listed in config/sources.yaml, its first walk started at that cursor
-- minus lookback_days instead of initial_days and missed the older part of its window.
-- The loader now keeps cursors for accounts with a row in core.accounts (their own
-- profile was read); this deletes the ones it kept for the others, so that their first
-- walk, if they are ever tracked, reaches initial_days.

delete from meta.cursors
where
    scope = 'account_posts'
    and not exists (
        select 1 from core.accounts as a
        where a.platform = meta.cursors.platform and a.account_id = meta.cursors.key
    );
