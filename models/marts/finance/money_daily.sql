{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, sales_channel, source_id, device, os)',
          pre_hook="{{ delete_days_left_empty(changed_order_days(ref('fct_orders'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch')),
                                              [(ref('fct_orders'), 'toDate(buy_ts)')]) }}") }}
{% set days = days_set(changed_order_days(ref('fct_orders'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'))) %}
-- Gross and net money of the sales per day (of buy_ts) x sales channel x the buyer's first-touch
-- source / device / OS (contract section 5; refunds on their order's day, base currency). The
-- dashboards' gross-vs-net views and their Sales-channel filter read it: kpi_daily has no sales
-- channel (its sessions and users have none). Additive across every column of the grain.
-- Incremental by day, like sales_daily: a refresh recomputes only the days new loads touch.
select
    toDate(buy_ts) as day,
    sales_channel,
    first_source_id as source_id,
    any(channel) as channel,
    any(channel_group) as channel_group,
    first_device as device,
    first_os as os,
    toUInt64(count()) as orders,
    sum(revenue) as revenue,
    sum(refunded) as refunded,
    sum(discount) as discounts,
    sum(tax) as tax,
    sum(shipping) as shipping,
    sum(net_revenue) as net_revenue,
    sum(cogs) as cogs,
    sum(gross_profit) as gross_profit,
    max(refreshed_in) as load_id
from {{ ref('fct_orders') }}
{% if is_incremental() %}where toDate(buy_ts) in {{ days }}{% endif %}
group by day, sales_channel, source_id, device, os
