{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, source_id, os)',
          settings={'index_granularity': 64},
          pre_hook="{{ delete_days_left_empty(kpi_users_changed_days(),
                                              [(ref('fct_sessions'), 'toDate(start_ts)'), (ref('fct_orders'), 'toDate(buy_ts)')]) }}") }}
{% set days = days_set(kpi_users_changed_days()) %}
-- Distinct users and buyers per day x source x OS as roaring bitmaps of int_user_keys' dense keys:
-- the same people as kpi_daily's users_state / buyers_state (users by the session's source and OS;
-- buyers of sales by their first touch), exact for any roll-up (groupBitmapMerge), and much faster
-- to merge over long spans than uniqExact states: the Overview's period comparison (kpi_compare)
-- reads whole months from kpi_users_monthly and only the days around them from here.
-- index_granularity 64 (about a day of rows): a span reads only its own days' bitmaps.
-- Incremental by day: a refresh recomputes the days new visits fall on and the days of orders
-- fct_orders rewrote (macros/incremental_days.sql).
with keys as (
    select uid, user_key from {{ ref('int_user_keys') }}
    {% if is_incremental() -%}
    -- just the users of these days: a hash table of all users' keys would cost more than the rest
    where uid in (select uid from {{ ref('fct_sessions') }} where toDate(start_ts) in {{ days }}
                  union all
                  select uid from {{ ref('fct_orders') }} where toDate(buy_ts) in {{ days }})
    {%- endif %}
),
sessions as (
    select
        toDate(s.start_ts) as day, s.source_id as source_id, s.os as os,
        groupBitmapState(k.user_key) as users_bitmap,
        max(s.load_id) as load_id
    from {{ ref('fct_sessions') }} as s
    inner join keys as k on k.uid = s.uid
    {% if is_incremental() %}where toDate(s.start_ts) in {{ days }}{% endif %}
    group by day, source_id, os
),
orders as (
    select
        toDate(o.buy_ts) as day, o.first_source_id as source_id, o.first_os as os,
        groupBitmapState(k.user_key) as buyers_bitmap,
        max(o.refreshed_in) as load_id
    from {{ ref('fct_orders') }} as o
    inner join keys as k on k.uid = o.uid
    {% if is_incremental() %}where toDate(o.buy_ts) in {{ days }}{% endif %}
    group by day, source_id, os
)
select
    if(s.day != toDate(0), s.day, o.day) as day,
    if(s.day != toDate(0), s.source_id, o.source_id) as source_id,
    {{ channel_of('if(s.day != toDate(0), s.source_id, o.source_id)', 'c') }},
    toLowCardinality(if(s.day != toDate(0), s.os, o.os)) as os,
    s.users_bitmap as users_bitmap,
    o.buyers_bitmap as buyers_bitmap,
    greatest(s.load_id, o.load_id) as load_id
from sessions as s
full outer join orders as o on s.day = o.day and s.source_id = o.source_id and s.os = o.os
left join {{ ref('channels') }} as c on c.source_id = if(s.day != toDate(0), s.source_id, o.source_id)
