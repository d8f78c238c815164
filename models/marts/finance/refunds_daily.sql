{{ config(engine='MergeTree()', order_by='(day, source_id)') }}
-- Refunds by the day they were paid (refund date basis; every other mart counts them on their
-- order's day) x the buyer's first-touch source. Only refunds of orders that are sales
-- (fct_orders); each refund converted at its order's rate and rounded to the cent, as it was paid (not
-- capped at the order's revenue: fct_orders.refunded is; data_issues lists the orders refunded above
-- revenue).
select
    toDate(r.refund_ts) as day,
    o.first_source_id as source_id,
    {{ channel_of('o.first_source_id', 'c') }},
    toUInt64(count()) as refunds,
    sum({{ to_base_currency('r.amount', 'o.fx_rate') }}) as refunded
from {{ ref('stg_refunds') }} as r
inner join {{ ref('fct_orders') }} as o on o.order_id = r.order_id
left join {{ ref('channels') }} as c on c.source_id = o.first_source_id
group by day, source_id, channel, channel_group
