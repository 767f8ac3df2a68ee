"""Mastodon recordings mapped in DuckDB: the bulk twin of ``ingest.mastodon.mapping``.

Same keys, text cleanup and kinds as the Python mapping (see there for why). HTML becomes
text with regular expressions, which agree with Python's HTMLParser on the HTML Mastodon
sends; content with anything else (comments, a bare ``<``, an entity other than the five
Mastodon escapes, exotic whitespace) marks its file careful, and Python maps it.
"""

from __future__ import annotations

import re

from ingest.bulk import BulkMapping

# Counts and flags are read as text: a typed read would turn 12.5, true or "yes" into a
# number or a flag without a word, where the Python models refuse them. As text, only the
# spellings both paths read alike are mapped here; anything else takes the careful path.
_ACCOUNT = (
    "id VARCHAR, username VARCHAR, acct VARCHAR, display_name VARCHAR, note VARCHAR, "
    "url VARCHAR, bot VARCHAR, created_at VARCHAR, followers_count VARCHAR, "
    "following_count VARCHAR, statuses_count VARCHAR, suspended VARCHAR, "
    "moved STRUCT(id VARCHAR, username VARCHAR, acct VARCHAR, url VARCHAR)"
)
_STATUS_FIELDS = (
    "id VARCHAR, uri VARCHAR, created_at VARCHAR, url VARCHAR, in_reply_to_id VARCHAR, "
    "language VARCHAR, content VARCHAR, spoiler_text VARCHAR, replies_count VARCHAR, "
    "reblogs_count VARCHAR, favourites_count VARCHAR, quotes_count VARCHAR, "
    f"account STRUCT({_ACCOUNT}), quote STRUCT(quoted_status STRUCT(uri VARCHAR)), "
    "tags STRUCT(name VARCHAR)[], mentions STRUCT(acct VARCHAR)[]"
)
_STATUS = f"STRUCT({_STATUS_FIELDS}, reblog STRUCT({_STATUS_FIELDS}))"


def _read_columns(body_type: str) -> str:
    return (
        "{fetched_at: 'VARCHAR', request: 'STRUCT(method VARCHAR, url VARCHAR)', "
        f"response: 'STRUCT(status INTEGER, body {body_type}, body_text VARCHAR)'}}"
    )


MACROS = r"""
create or replace temp macro masto_key(acct, instance) as
    case when strpos(acct, '@') > 0 then lower(acct) else lower(acct) || '@' || lower(instance) end;
-- an account object's key: a domain-less acct is completed by the host of the account's
-- own url, else by the page's instance (ingest.mastodon.mapping.key_of)
create or replace temp macro masto_akey(acct, url, instance) as masto_key(acct, coalesce(
    case when strpos(acct, '@') = 0 then radar_host(url) end, instance));
-- the same on a page of statuses, where the host of the page's local_url is known
create or replace temp macro masto_page_akey(acct, url, instance, local_url, local_host) as
    masto_key(acct, coalesce(case when strpos(acct, '@') = 0 then
        case when url = local_url then local_host else radar_host(url) end end, instance));
-- Type checks. read_json writes any JSON value into a VARCHAR column: 123 as '123', true
-- as 'true', {"a":1} as '{"a":1}'. Python accepts only strings there (integers too for
-- ids), so a text that could be such a rendering takes the careful path.
create or replace temp macro masto_str_odd(v) as v is not null and regexp_full_match(v,
    '(?s)-?[0-9][0-9.eE+-]*|true|false|\{.*\}|\[.*\]');
create or replace temp macro masto_id_odd(v) as v is not null and regexp_full_match(v,
    '(?s)true|false|\{.*\}|\[.*\]|-?[0-9]+[.eE].*');
create or replace temp macro masto_ascii_odd(v) as
    v is not null and regexp_matches(v, '[^\x{20}-\x{7e}]');
-- a URL the host expression reads as urllib does: printable ASCII, no spaces. The same as
-- radar_host(v) is null or regexp_matches(v, '[^\x{21}-\x{7e}]') (a test compares them),
-- in one anchored match: the host's characters are printable ASCII but / ? # @ : [ ]
create or replace temp macro masto_url_odd(v) as v is not null and not regexp_full_match(v,
    '[A-Za-z][A-Za-z0-9+.-]*://[\x{21}\x{22}\x{24}-\x{2e}\x{30}-\x{39}\x{3b}-\x{3e}'
    || '\x{41}-\x{5a}\x{5c}\x{5e}-\x{7e}]+(:[0-9]*)?([/?#][\x{21}-\x{7e}]*)?');
-- counts: a JSON integer or a decimal string, as pydantic reads them, within 64 bits;
-- account counts may be -1 (hidden), status counts are never negative
create or replace temp macro masto_count(v) as
    case when regexp_full_match(v, '-?[0-9]+') then try_cast(v as bigint) end;
create or replace temp macro masto_count_odd(v, least) as v is not null
    and coalesce(not regexp_full_match(v, '-?[0-9]+') or try_cast(v as bigint) < least, true);
create or replace temp macro masto_flag_odd(v) as v is not null and v not in ('true', 'false');
-- the ISO form, with a UTC instant Python's datetime holds (years 1-9999)
-- (never NULL: a NULL here would read as "not careful")
create or replace temp macro masto_ts_ok(v) as v is null or coalesce(regexp_full_match(v,
    '\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)')
    and radar_ts(v) between timestamp '0001-01-01 00:00:00'
                        and timestamp '9999-12-31 23:59:59.999999', false);
-- radar.text.html_to_text: <br> is a line break, a closing block a paragraph break,
-- other tags go, entities are unescaped, lines are stripped, blank runs collapse. Each
-- step runs only when its pattern occurs: most posts need few of them. Tags go a run of
-- adjacent ones per match ('(?:<[^>]*>)+', the same text as '<[^>]*>' replaced one by one:
-- a tag ends at its first '>'), ~10 % fewer matches to replace.
-- Each step binds its text once, in a one-item list comprehension ([... for t in [h]][1]):
-- a macro's argument is copied wherever the body names it, so five nested steps that each
-- name it three times planned 3^5 copies of the content expression (26 ms a statement, and
-- 70 ms inside nullif); bound once, 2 ms, and no slower to run.
create or replace temp macro masto_unescape(h) as [
    case when not contains(t, '&') then t else
        replace(replace(replace(replace(replace(replace(replace(replace(t,
            '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#34;', '"'),
            '&#39;', chr(39)), '&#x27;', chr(39)), '&apos;', chr(39)), '&amp;', '&') end
    for t in [h]][1];
create or replace temp macro masto_tags_to_breaks(h) as [
    regexp_replace(
        case when regexp_matches(t, '(?i)<br\b')
             then regexp_replace(t, '<br\b[^>]*>', chr(10), 'gi') else t end,
        '</(p|div|li|blockquote|pre)\s*>', chr(10) || chr(10), 'gi')
    for t in [h]][1];
create or replace temp macro masto_strip_lines(h) as [
    case when regexp_matches(t, '[ \t\r\f\v]\n|\n[ \t\r\f\v]')
         then regexp_replace(t, '[ \t\r\f\v]*\n[ \t\r\f\v]*', chr(10), 'g') else t end
    for t in [h]][1];
create or replace temp macro masto_collapse(h) as [
    case when contains(t, chr(10) || chr(10) || chr(10))
         then regexp_replace(t, '\n{3,}', chr(10) || chr(10), 'g') else t end
    for t in [h]][1];
create or replace temp macro masto_html_text(h) as radar_clean(masto_collapse(trim(
    masto_strip_lines(masto_unescape(regexp_replace(masto_tags_to_breaks(h), '(?:<[^>]*>)+', '',
                                                     'g'))),
    ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))));
-- HTML whose tags the expressions above might read otherwise than HTMLParser: comments,
-- a bare '<', an unclosed tag, a self-closed block (HTMLParser ends a paragraph there)
create or replace temp macro masto_html_odd(h) as h is not null and regexp_matches(h,
    '<[^a-zA-Z/]|</[^a-zA-Z]|<$|<[a-zA-Z/][^>]*$|<(?i:p|div|li|blockquote|pre)\b[^>]*/>');
-- text left with an entity the unescape above does not know, or with whitespace that
-- str.strip() removes and trim() keeps
create or replace temp macro masto_text_odd(t) as t is not null and regexp_matches(t,
    '&[#A-Za-z0-9]|[\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}'
    || '\x{202f}\x{205f}\x{3000}]');
create or replace temp macro masto_account_odd(a) as
    a is null or a.id is null or a.username is null or a.acct is null
    or masto_id_odd(a.id) or masto_str_odd(a.username) or masto_str_odd(a.acct)
    or masto_ascii_odd(a.acct) or masto_url_odd(a.url)
    or masto_str_odd(a.display_name) or masto_str_odd(a.note)
    or masto_flag_odd(a.bot) or masto_flag_odd(a.suspended)
    or masto_count_odd(a.followers_count, -1) or masto_count_odd(a.following_count, -1)
    or masto_count_odd(a.statuses_count, -1)
    or not masto_ts_ok(a.created_at) or masto_html_odd(a.note)
    or (a.moved is not null and (a.moved.id is null or a.moved.username is null
                                 or a.moved.acct is null or masto_id_odd(a.moved.id)
                                 or masto_str_odd(a.moved.username)
                                 or masto_str_odd(a.moved.acct) or masto_ascii_odd(a.moved.acct)
                                 or masto_url_odd(a.moved.url)));
create or replace temp macro masto_status_odd(s) as
    s.id is null or s.uri is null or s.created_at is null or not masto_ts_ok(s.created_at)
    or masto_id_odd(s.id) or masto_str_odd(s.uri) or masto_str_odd(s.url)
    or masto_id_odd(s.in_reply_to_id) or masto_str_odd(s.language)
    or masto_str_odd(s.content) or masto_str_odd(s.spoiler_text)
    or masto_count_odd(s.replies_count, 0) or masto_count_odd(s.reblogs_count, 0)
    or masto_count_odd(s.favourites_count, 0) or masto_count_odd(s.quotes_count, 0)
    or masto_str_odd(s.quote.quoted_status.uri)
    or masto_account_odd(s.account) or masto_html_odd(s.content)
    or list_bool_or([t is null or not radar_tag_ok(t.name) or masto_str_odd(t.name)
                     for t in coalesce(s.tags, [])])
    or list_bool_or([m is null or m.acct is null or masto_str_odd(m.acct)
                     or masto_ascii_odd(m.acct) for m in coalesce(s.mentions, [])]);
"""

# --- accounts/lookup: one account per page -------------------------------------------

_PAGE_CAREFUL = """status is null or status <> 200 or body is null or body_text is not null
    or fetched_at is null or not masto_ts_ok(fetched_at) or url is null or masto_url_odd(url)"""

_LOOKUP_PREPARE = """
create or replace temp table mapped as
select filename, fetched_at as page_key, radar_ts(fetched_at) as observed_at, body as a,
       masto_akey(body.acct, body.url, coalesce(radar_host(url), 'unknown')) as account_id,
       nullif(masto_html_text(coalesce(body.note, '')), '') as bio,
       careful or masto_account_odd(body) as careful
from {pages};
update mapped set careful = true where masto_text_odd(bio);
"""

_LOOKUP_ACCOUNTS = """
select 'mastodon' as platform, account_id, account_id as handle,
       nullif(radar_clean(coalesce(a.display_name, '')), '') as display_name, bio, a.url,
       substr(account_id, strpos(account_id, '@') + 1) as home_instance,
       coalesce(a.bot = 'true', false) as is_bot,
       case when coalesce(a.suspended = 'true', false) then 'suspended'
            when a.moved is not null then 'moved' else 'active' end as status,
       case when a.moved is not null
            then masto_akey(a.moved.acct, a.moved.url,
                            substr(account_id, strpos(account_id, '@') + 1))
       end as moved_to,
       radar_ts(a.created_at) as created_at, 'tracked' as discovered_via, observed_at
from mapped
"""

_LOOKUP_SNAPSHOTS = """
select 'mastodon' as platform, account_id, observed_at,
       case when masto_count(a.followers_count) > 0 then masto_count(a.followers_count) end
           as followers,
       nullif(masto_count(a.following_count), -1) as following,
       nullif(masto_count(a.statuses_count), -1) as posts_count,
       case when masto_count(a.followers_count) > 0 then 'exact' else 'hidden' end
           as follower_precision
from mapped
"""

ACCOUNTS_LOOKUP = BulkMapping(
    read_columns=_read_columns(f"STRUCT({_ACCOUNT})"),
    page_columns=f"{_PAGE_CAREFUL} as careful",
    prepare=_LOOKUP_PREPARE,
    macros=MACROS,
    outputs={"accounts": _LOOKUP_ACCOUNTS, "account_snapshots": _LOOKUP_SNAPSHOTS},
)

# --- accounts/:id/statuses: a page of statuses, boosts carrying the original ---------
# One row per status in ``mapped``; for a boost, ``p`` is the original it carries.

# the instance that served the page: a local account's own URL names it. That URL and its
# host are kept: most statuses of a page are by that account, and masto_page_akey reuses
# the host instead of extracting it again from the same URL in every status.
_STATUS_PAGE_COLUMNS = f"""
    [s.account.url for s in body
     if strpos(s.account.acct, '@') = 0 and coalesce(s.account.url, '') <> ''][1] as local_url,
    radar_host(local_url) as local_host,
    coalesce(local_host, radar_host(url), 'unknown') as instance,
    {_PAGE_CAREFUL} as careful"""

# One row per status; a boost's post columns are those of the original it carries. The
# inner projection picks each field of ``p`` (the status or its original) once, as a
# column; the outer one maps those columns (copying whole structs, coalesce(s.reblog, s),
# is several times slower).
_STATUSES_PREPARE = """
create or replace temp table mapped as
select filename, page_key, observed_at, boosted, status_uri, status_url, status_created,
       status_account, POST_FIELDS, careful
from (
    select filename, page_key, observed_at, instance, local_url, local_host,
           s.reblog is not null as boosted,
           case when s.reblog is not null then s.uri end as status_uri,
           case when s.reblog is not null then s.url end as status_url,
           case when s.reblog is not null then radar_ts(s.created_at) end as status_created,
           case when s.reblog is not null
                then masto_page_akey(s.account.acct, s.account.url, instance, local_url,
                                     local_host) end as status_account,
           P_COLUMNS,
           -- a null item is a reject in Python: the file is mapped there
           careful or (s is null and not empty_page)
               or (s is not null and (masto_status_odd(s)
                                      or (s.reblog is not null and masto_status_odd(s.reblog))))
               as careful
    from (select filename, fetched_at || ' ' || url as page_key,
                 radar_ts(fetched_at) as observed_at, instance, local_url, local_host, careful,
                 coalesce(len(body), 0) = 0 as empty_page,
                 -- a page with no statuses keeps one row: it is counted, and may be careful
                 unnest(case when len(body) > 0 then body else [null] end) as s
          from {pages}));

update mapped set careful = true where masto_text_odd(text);
"""

# The canonical post columns of status ``p``: the status itself, or the original a boost
# carries.
_POST_FIELDS = """
    p.uri as post_id,
    masto_page_akey(p.account.acct, p.account.url, instance, local_url, local_host) as account_id,
    radar_ts(p.created_at) as created_at,
    case when coalesce(p.spoiler_text, '') <> ''
         then radar_clean(p.spoiler_text) || chr(10) || chr(10) else '' end
        || masto_html_text(coalesce(p.content, '')) as text,
    p.language as language,
    list_sort(list_distinct([radar_tag(t.name) for t in coalesce(p.tags, [])])) as hashtags,
    list_sort(list_distinct([masto_key(m.acct, instance) for m in coalesce(p.mentions, [])]))
        as mentions,
    p.url as url,
    nullif(p.quote.quoted_status.uri, '') as quoted,
    case when nullif(p.quote.quoted_status.uri, '') is not null then 'quote'
         when p.in_reply_to_id is not null then 'reply' else 'original' end as kind,
    masto_count(p.favourites_count) as likes, masto_count(p.replies_count) as comments,
    masto_count(p.reblogs_count) as shares, masto_count(p.quotes_count) as quotes"""

_P_FIELD = r"\bp\.([a-z_]+(?:\.[a-z_]+)*)"


def _p_column(field: str) -> str:
    return "p_" + field.replace(".", "_")


_STATUSES_PREPARE = _STATUSES_PREPARE.replace(
    "P_COLUMNS",
    ",\n           ".join(
        f"case when s.reblog is null then s.{f} else s.reblog.{f} end as {_p_column(f)}"
        for f in sorted(set(re.findall(_P_FIELD, _POST_FIELDS)))
    ),
).replace("POST_FIELDS", re.sub(_P_FIELD, lambda m: _p_column(m.group(1)), _POST_FIELDS))

_POSTS = """
select 'mastodon' as platform, post_id, account_id, created_at, null as client_created_at,
       text, language, hashtags, mentions, url, kind, quoted as original_post_id,
       null as original_account_id, observed_at
from mapped where post_id is not null
union all
select 'mastodon', status_uri, status_account, status_created, null, null, null, [], [],
       status_url, 'repost', post_id, account_id, observed_at
from mapped where boosted
"""

_METRICS = """
select 'mastodon' as platform, post_id, observed_at, likes, comments, shares, quotes,
       null as views
from mapped where post_id is not null
"""

ACCOUNT_STATUSES = BulkMapping(
    read_columns=_read_columns(f"{_STATUS}[]"),
    page_columns=_STATUS_PAGE_COLUMNS,
    prepare=_STATUSES_PREPARE,
    macros=MACROS,
    outputs={"posts": _POSTS, "post_metric_snapshots": _METRICS},
)

BULK_MAPPINGS = {"accounts_lookup": ACCOUNTS_LOOKUP, "account_statuses": ACCOUNT_STATUSES}
