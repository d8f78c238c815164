{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, step, event)') }}
-- Behaviour funnel per day and step (events input): distinct users and events per step.
-- Incremental by day: a refresh recomputes the days that events from new loads fall on
-- (load_id = the newest load among a row's events, so max(load_id) is the mart's watermark).
-- step = the event type's order in seeds/event_types.csv (the loader accepts no other event).
select
    toDate(e.ts) as day,
    e.event as event,
    t.event_order as step,
    toUInt64(uniqExact(e.uid)) as users,
    uniqExactState(e.uid) as users_state,
    toUInt64(count()) as events,
    max(e.load_id) as load_id
from {{ ref('stg_events') }} as e
inner join {{ ref('event_types') }} as t on t.event = e.event
{% if is_incremental() %}
where toDate(e.ts) in {{ new_load_periods(ref('stg_events'), 'toDate(ts)') }}
{% endif %}
group by day, event, step
