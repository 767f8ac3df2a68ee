-- whether a row's cluster value lies in the slice that a sliced rebuild is writing
-- (a model's rebuild_slices, docs/models.md): slice_from <= value < slice_until, a NULL
-- bound being none. Outside a sliced rebuild both are NULL and every value is in; the
-- runner sets them as constants, so a scan skips the row groups outside the slice.
create or replace macro config.in_rebuild_slice(value) as
    (getvariable('slice_from') is null or value >= getvariable('slice_from'))
    and (getvariable('slice_until') is null or value < getvariable('slice_until'));
