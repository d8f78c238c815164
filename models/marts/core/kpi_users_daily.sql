{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, source_id, os)',
          settings={'index_granularity': 64, 'min_bytes_for_wide_part': 0},
          query_settings={'enable_materialized_cte': 1},
          pre_hook="{{ delete_days_left_empty('(select * from ' ~ kpi_users_session_days(ref('fct_sessions'), mart_watermark())
                                              ~ ' union distinct select * from ' ~ kpi_users_order_days(ref('fct_orders'), ref('int_order_amounts'), mart_watermark()) ~ ')',
                                              [(ref('fct_sessions'), 'toDate(start_ts)'), (ref('fct_orders'), 'toDate(buy_ts)')]) }}") }}
{% set session_days = days_set(kpi_users_session_days(ref('fct_sessions'), mart_watermark())) %}
{% set order_days = days_set(kpi_users_order_days(ref('fct_orders'), ref('int_order_amounts'), mart_watermark())) %}
-- Distinct users and buyers per day x source x OS as roaring bitmaps of int_user_keys' dense keys:
-- the same people as kpi_daily's users_state / buyers_state (users by the session's source and OS;
-- buyers of sales by their first touch), exact for any roll-up (groupBitmapMerge), and much faster
-- to merge over long spans than uniqExact states: the Overview's period comparison (kpi_compare)
-- reads whole months from kpi_users_monthly and only the days around them from here.
-- index_granularity 64 (about a day of rows): a span reads only its own days' bitmaps. Wide parts: a
-- delete rewrites the deleted-rows mask of the parts it touches, not the parts' bitmaps (dbt_project.yml).
-- Incremental by day (macros/kpi_users.sql): a refresh recomputes the users of the days new visits fall
-- on and the buyers of the days whose sales changed (fct_orders.sale_changed_in), and keeps the stored
-- other half of those days. Rows written are stamped with the newest load (as fct_orders.refreshed_in):
-- kpi_users_monthly recomputes the months of the rows stamped since its last run.
with people as materialized (
    select toDate(start_ts) as day, source_id, os, uid, 1 as is_session
    from {{ ref('fct_sessions') }}
    {% if is_incremental() %}where toDate(start_ts) in {{ session_days }}{% endif %}
    union all
    select toDate(buy_ts), first_source_id, first_os, uid, 0
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}where toDate(buy_ts) in {{ order_days }}{% endif %}
),
cells as (
    select
        p.day as day, p.source_id as source_id, p.os as os,
        groupBitmapStateIf(k.user_key, p.is_session = 1) as users_bitmap,
        groupBitmapStateIf(k.user_key, p.is_session = 0) as buyers_bitmap,
        1 as has_users, 1 as has_buyers
    from people as p
    inner join (
        select uid, user_key from {{ ref('int_user_keys') }}
        {% if is_incremental() -%}
        -- just these days' users: a hash table of all users' keys would cost more than the rest
        where uid in (select uid from people)
        {%- endif %}
    ) as k on k.uid = p.uid
    group by day, source_id, os
    {% if is_incremental() %}
    union all
    -- days recomputed for one half only: the stored other half
    select day, source_id, os, users_bitmap, buyers_bitmap,
        day not in {{ session_days }} and bitmapCardinality(users_bitmap) > 0 as has_users,
        day not in {{ order_days }} and bitmapCardinality(buyers_bitmap) > 0 as has_buyers
    from {{ this }}
    where (day in {{ session_days }} or day in {{ order_days }}) and (has_users or has_buyers)
    {% endif %}
)
select
    u.day as day,
    u.source_id as source_id,
    {{ channel_of('u.source_id', 'c') }},
    toLowCardinality(u.os) as os,
    groupBitmapMergeStateIf(u.users_bitmap, u.has_users = 1) as users_bitmap,
    groupBitmapMergeStateIf(u.buyers_bitmap, u.has_buyers = 1) as buyers_bitmap,
    toUInt64({{ latest_load_id(ref('stg_load_log')) }}) as load_id
from cells as u
left join {{ ref('channels') }} as c on c.source_id = u.source_id
group by u.day, u.source_id, channel, channel_group, u.os
