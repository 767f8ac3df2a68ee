-- persistent macros the models share; created in the config schema before every run.

-- text as space-separated lowercase NFC words, padded with a space on each side, so that
-- contains(words, ' plant based ') is a whole-word match in any script. The words are
-- those the text says itself: references to another account or a page are dropped first,
-- so a niche keyword or brand term inside one is no hit (hashtags are words and stay):
--   mentions and addresses: @user, @user@instance, @handle.bsky.social, name@domain; one
--     ends at the first character that is no letter or digit (any script), mark, _ or -
--     (a dot only between those); an @ that names nobody ('@ home') is a separator;
--   links with a scheme (https://…, at://…), to the next blank;
--   links without one: www.host (and its path), and host.tld/path (Bluesky's shortened
--     link text, a pasted shop.example.com/vegan-recipes), to the next blank. The top
--     label is letters, so 3.5/5 is no link; a host without www. or a path is words
--     (lentils.Tonight, node.js, e.g.: text cannot tell them from example.com).
-- A term cannot hold a mention or a link (config.py refuses @, : and link shapes), so
-- terms come out as before and transforms/config.py's _word_form stays their twin.
create or replace macro config.word_text(s) as
    ' ' || trim(regexp_replace(
        regexp_replace(
            lower(nfc_normalize(coalesce(s, ''))),
            '[\p{L}\p{N}\p{M}_.+-]*@[\p{L}\p{N}\p{M}_-]+(?:\.[\p{L}\p{N}\p{M}_-]+)*'
            || '|[a-z][a-z0-9+.-]*://[^\s\p{Z}]*'
            -- www. starts a word (so not awww.cute): the character before it goes too
            || '|(?:^|[^\p{L}\p{N}\p{M}_.-])www\.[\p{L}\p{N}\p{M}_-]+'
            || '(?:\.[\p{L}\p{N}\p{M}_-]+)*(?:/[^\s\p{Z}]*)?'
            || '|[\p{L}\p{N}\p{M}_-]+(?:\.[\p{L}\p{N}\p{M}_-]+)*\.\p{L}{2,}/[^\s\p{Z}]*',
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
