{{ config(order_by='uid', engine='MergeTree()') }}
-- A user's first session: the smallest (start_ts, source_id, device, end_ts).
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
group by uid
