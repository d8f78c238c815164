{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, step, event)') }}
-- Behaviour funnel per day and step (events input): distinct users and events per step.
-- Incremental by day: a refresh recomputes the days that events from new loads fall on
-- (load_id = the newest load among a row's events, so max(load_id) is the mart's watermark).
select
    toDate(ts) as day,
    event,
    toUInt8(indexOf(['page_view', 'product_view', 'search', 'add_to_cart', 'remove_from_cart',
                     'begin_checkout', 'purchase'], event)) as step,
    toUInt64(uniqExact(uid)) as users,
    uniqExactState(uid) as users_state,
    toUInt64(count()) as events,
    max(load_id) as load_id
from {{ ref('stg_events') }}
{% if is_incremental() %}
where toDate(ts) in {{ new_load_periods(ref('stg_events'), 'toDate(ts)') }}
{% endif %}
group by day, event
