-- depends_on: {{ ref('stg_visits') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    engine='MergeTree()',
    order_by='(start_ts, source_id, uid)',
    partition_by='toYYYYMM(start_ts)'
) }}
-- One row per visit. Incremental: a refresh recomputes only the users seen in new loads (their
-- first session may change), so the result equals a full rebuild.
select
    s.uid as uid,
    s.start_ts as start_ts,
    s.end_ts as end_ts,
    s.duration_s as duration_s,
    s.source_id as source_id,
    s.channel as channel,
    s.channel_group as channel_group,
    s.device as device,
    s.os as os,
    s.country as country,
    s.region as region,
    s.city as city,
    toUInt8((s.start_ts, s.source_id, s.device, s.end_ts) = ft.first_session) as is_first_session,
    toStartOfMonth(ft.first_visit_ts) as visit_cohort_month,
    ft.first_source_id as first_source_id,
    ft.first_device as first_device,
    s.load_id as load_id
from {{ ref('int_sessions') }} as s
inner join {{ ref('int_first_touch') }} as ft on ft.uid = s.uid
{% if is_incremental() %}
where s.uid in (
    select uid from {{ ref('stg_visits') }}
    where load_id > (select max(load_id) from {{ this }})
)
{% endif %}
