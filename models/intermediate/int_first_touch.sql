{{ config(
    materialized='incremental',
    incremental_strategy='append',
    order_by='uid',
    engine='MergeTree()',
    pre_hook="
        {#- Users whose stored first session comes after one of the new loads' visits (a late visit) lose
            their row; the model rewrites it from the new visits. On a normal refresh every new visit
            starts after the newest stored first visit, which is cheap to check, and the per-user
            comparison (a scan of the table) is skipped. -#}
        {%- set watermark = incremental_watermark('visits_load_id') -%}
        {%- if late_rows_since(ref('stg_visits'), 'start_ts', watermark, '(select max(first_visit_ts) from ' ~ this ~ ')') -%}
            {{ delete_where_any('uid in (select t.uid from ' ~ this ~ ' as t inner join (select uid, '
                                ~ 'min((start_ts, source_id, device, end_ts)) as earliest from ' ~ ref('stg_visits')
                                ~ ' where load_id > ' ~ watermark ~ ' group by uid) as n on n.uid = t.uid '
                                ~ 'where n.earliest < t.first_session)') }}
        {%- endif -%}"
) }}
-- A user's first session: the smallest (start_ts, source_id, device, end_ts).
-- Incremental (macros/incremental_customers.sql): visits are append-only, so a user's first session
-- changes only when a visit from a new load comes before it. A refresh reads just the new loads'
-- visits: the pre-hook deletes the users they move earlier, and the model appends those and new
-- users, with the first session taken from the new visits. The result equals a full rebuild.
{% set watermark = incremental_watermark('visits_load_id') %}
select
    uid,
    min((start_ts, source_id, device, end_ts)) as first_session,
    first_session.1 as first_visit_ts,
    first_session.2 as first_source_id,
    toLowCardinality(first_session.3) as first_device,
    toLowCardinality(argMin(os, (start_ts, source_id, device, end_ts))) as first_os,
    toLowCardinality(argMin(country, (start_ts, source_id, device, end_ts))) as first_country,
    toLowCardinality(argMin(region, (start_ts, source_id, device, end_ts))) as first_region,
    toLowCardinality(argMin(city, (start_ts, source_id, device, end_ts))) as first_city,
    argMin(load_id, (start_ts, source_id, device, end_ts)) as visits_load_id
from {{ ref('stg_visits') }}
{% if is_incremental() %}
where load_id > {{ watermark }}
  and uid not in (select uid from {{ this }}
                  where uid in (select uid from {{ ref('stg_visits') }} where load_id > {{ watermark }}))
{% endif %}
group by uid
