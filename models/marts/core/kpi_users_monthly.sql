{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='month',
          engine='MergeTree()', order_by='(month, source_id, os)',
          settings={'index_granularity': 64, 'min_bytes_for_wide_part': 0},
          pre_hook="{{ delete_where_any('month not in (select toStartOfMonth(day) from ' ~ ref('kpi_users_daily') ~ ')')
                       if is_incremental() else '' }}") }}
{% set watermark = incremental_watermark('load_id') %}
-- kpi_users_daily rolled up to calendar months: distinct users and buyers per month x source x OS as
-- roaring bitmaps of int_user_keys' keys (exact; merge with groupBitmapMerge). A span of whole months
-- merges 12 rows a year per cell instead of ~365 (kpi_compare).
-- Incremental by month, from kpi_users_daily's bitmaps: a refresh recomputes the months of the daily
-- rows written since its last run and of days that left the daily model (fewer days than stored);
-- the pre-hook deletes months with no day left.
with daily as (
    select * from {{ ref('kpi_users_daily') }}
    {% if is_incremental() %}
    where toStartOfMonth(day) in (
        select toStartOfMonth(day) from {{ ref('kpi_users_daily') }} where load_id > {{ watermark }}
        union distinct
        select d.month from (select toStartOfMonth(day) as month, toUInt32(uniqExact(day)) as days
                             from {{ ref('kpi_users_daily') }} group by month) as d
        inner join (select month, any(days) as days from {{ this }} group by month) as t on t.month = d.month
        where t.days != d.days)
    {% endif %}
)
select
    toStartOfMonth(b.day) as month,
    b.source_id as source_id,
    b.channel as channel,
    b.channel_group as channel_group,
    b.os as os,
    groupBitmapMergeState(b.users_bitmap) as users_bitmap,
    groupBitmapMergeState(b.buyers_bitmap) as buyers_bitmap,
    any(n.days) as days,
    max(b.load_id) as load_id
from daily as b
inner join (select toStartOfMonth(day) as month, toUInt32(uniqExact(day)) as days from daily group by month) as n
    on n.month = toStartOfMonth(b.day)
group by month, source_id, channel, channel_group, os
