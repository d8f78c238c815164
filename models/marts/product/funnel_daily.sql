{{ config(engine='MergeTree()', order_by='(day, step, event)') }}
-- Behaviour funnel per day and step (events input): distinct users and events per step.
select
    toDate(ts) as day,
    event,
    toUInt8(indexOf(['page_view', 'product_view', 'search', 'add_to_cart', 'remove_from_cart',
                     'begin_checkout', 'purchase'], event)) as step,
    toUInt64(uniqExact(uid)) as users,
    uniqExactState(uid) as users_state,
    toUInt64(count()) as events
from {{ ref('stg_events') }}
group by day, event
