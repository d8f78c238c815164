{% set months = months_of(days_set(kpi_users_changed_days())) %}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='month',
          engine='MergeTree()', order_by='(month, source_id, os)',
          settings={'index_granularity': 64},
          pre_hook="{{ delete_where_any('month in ' ~ months_of(days_set(kpi_users_changed_days()))
                                        ~ ' and month not in (select toStartOfMonth(day) from ' ~ ref('kpi_users_daily') ~ ')')
                       if is_incremental() else '' }}") }}
-- kpi_users_daily rolled up to calendar months: distinct users and buyers per month x source x OS as
-- roaring bitmaps of int_user_keys' keys (exact; merge with groupBitmapMerge). A span of whole months
-- merges 12 rows a year per cell instead of ~365 (kpi_compare).
-- Incremental by month: a refresh recomputes the months of the days kpi_users_daily recomputed, from
-- its bitmaps (a month's bitmaps, not its visits).
select
    toStartOfMonth(day) as month,
    source_id,
    channel,
    channel_group,
    os,
    groupBitmapMergeState(users_bitmap) as users_bitmap,
    groupBitmapMergeState(buyers_bitmap) as buyers_bitmap,
    max(load_id) as load_id
from {{ ref('kpi_users_daily') }}
{% if is_incremental() %}where toStartOfMonth(day) in {{ months }}{% endif %}
group by month, source_id, channel, channel_group, os
