-- persistent macros the models share; created in the config schema before every run.

-- text as space-separated lowercase NFC words, padded with a space on each side, so that
-- contains(words, ' plant based ') is a whole-word match in any script
create or replace macro config.word_text(s) as
    ' ' || trim(regexp_replace(lower(nfc_normalize(coalesce(s, ''))), '[^\p{L}\p{N}]+', ' ', 'g'))
    || ' ';

-- a numeric setting from config/scoring.yaml
create or replace macro config.setting(setting_name) as (
    select value from config.settings
    where name = setting_name
);
