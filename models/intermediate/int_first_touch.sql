{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    order_by='uid',
    engine='MergeTree()'
) }}
-- A user's first session: the smallest (start_ts, source_id, device, end_ts).
-- Incremental: only users with sessions from new loads can get a different first session, so a
-- refresh recomputes just them (from all their sessions); the result equals a full rebuild.
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
    max(load_id) as visits_load_id
from {{ ref('stg_visits') }}
{% if is_incremental() %}
where uid in (
    select uid from {{ ref('stg_visits') }}
    where load_id > (select max(visits_load_id) from {{ this }})
)
{% endif %}
group by uid
