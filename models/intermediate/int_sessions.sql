{{ config(materialized='view') }}
-- Sessions with their channel and length: the grain of every visit-based mart.
select
    v.uid as uid,
    v.start_ts as start_ts,
    v.end_ts as end_ts,
    toUInt32(dateDiff('second', v.start_ts, v.end_ts)) as duration_s,
    v.source_id as source_id,
    {{ channel_of('v.source_id', 'c') }},
    v.device as device,
    v.os as os,
    v.country as country,
    v.region as region,
    v.city as city,
    v.load_id as load_id
from {{ ref('stg_visits') }} as v
left join {{ ref('channels') }} as c on c.source_id = v.source_id
