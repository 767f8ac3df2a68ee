-- persistent macros the models share; created in the config schema before every run.

-- text as space-separated lowercase NFC words, padded with a space on each side, so that
-- contains(words, ' plant based ') is a whole-word match in any script. The words are
-- those the text says itself: references to another account or a page are dropped first,
-- so a niche keyword or brand term inside one is no hit (hashtags are words and stay):
--   mentions and addresses: @user, @user@instance, @handle.bsky.social, name@domain; one
--     ends at the first character that is no letter or digit (any script), mark, _ or -
--     (a dot only between those); an @ that names nobody ('@ home') is a separator;
--   links with a scheme (https://…, at://…), to the next blank.
-- Neither holds anything a niche or brand term may hold (config.py refuses @ and :), so
-- terms come out as before and transforms/config.py's _word_form stays their twin. Links
-- without a scheme (www.…, Bluesky's shortened host/path...) are words like any other.
create or replace macro config.word_text(s) as
    ' ' || trim(regexp_replace(
        regexp_replace(
            lower(nfc_normalize(coalesce(s, ''))),
            '[\p{L}\p{N}\p{M}_.+-]*@[\p{L}\p{N}\p{M}_-]+(?:\.[\p{L}\p{N}\p{M}_-]+)*'
            || '|[a-z][a-z0-9+.-]*://[^\s\p{Z}]*',
            ' ',
            'g'
        ),
        '[^\p{L}\p{N}]+',
        ' ',
        'g'
    )) || ' ';

-- a numeric setting from config/scoring.yaml
create or replace macro config.setting(setting_name) as (
    select value from config.settings
    where name = setting_name
);
