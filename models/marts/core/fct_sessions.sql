-- depends_on: {{ ref('stg_visits') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by='(start_ts, source_id, uid)',
    partition_by='toYYYYMM(start_ts)',
    pre_hook="
        {#- users whose first session changed lose their rows, rewritten whole by the model below; only
            after a late visit (a daily drop of new days has none) -#}
        {%- set watermark = incremental_watermark('load_id') -%}
        {%- if late_rows_since(ref('stg_visits'), 'start_ts', watermark) -%}
            {{ delete_where_any('load_id <= ' ~ watermark ~ ' and uid in (select uid from ' ~ ref('int_first_touch')
                                ~ ' where visits_load_id > ' ~ watermark ~ ')') }}
        {%- endif -%}"
) }}
-- One row per visit. Incremental (macros/incremental_days.sql): new visits are appended; only users
-- whose first session changed (late-arriving earlier visits) are deleted by the pre-hook and
-- rewritten whole, so the result equals a full rebuild.
{% set watermark = incremental_watermark('load_id') %}
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
inner join (
    select * from {{ ref('int_first_touch') }}
    {% if is_incremental() %}
    where uid in (select uid from {{ ref('stg_visits') }} where load_id > {{ watermark }})
    {% endif %}
) as ft on ft.uid = s.uid
{% if is_incremental() %}
-- New visits (their load's partitions only); older visits only of users a late visit gave a new
-- first session, and only when a late visit arrived (a daily drop of new days has none).
where s.load_id > {{ watermark }}
  {%- if late_rows_since(ref('stg_visits'), 'start_ts', watermark) %}
   -- users whose first session is a visit from a new load (int_first_touch keeps its load id)
   or s.uid in (select uid from {{ ref('int_first_touch') }} where visits_load_id > {{ watermark }})
  {%- endif %}
{% endif %}
