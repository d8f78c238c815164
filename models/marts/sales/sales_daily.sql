{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by='toYYYYMM(day)',
          engine='MergeTree()', order_by='(day, category, sku, source_id, device, os, sales_channel)',
          projections=[
              {'name': 'by_channel_os_category',
               'query': 'select day, channel, os, category, sales_channel, sum(revenue), sum(units)'
                        ' group by day, channel, os, category, sales_channel'},
              {'name': 'by_sku', 'query': 'select day, sku, product_name, category, sales_channel, sum(revenue), sum(units)'
                                          ' group by day, sku, product_name, category, sales_channel'},
          ],
          settings={'lightweight_mutation_projection_mode': 'rebuild'},
          pre_hook="{{ delete_days_left_empty(changed_order_days(ref('fct_orders'), ref('stg_order_items'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'), stamp='sale_changed_in'),
                                              [(ref('fct_orders'), 'toDate(buy_ts)')]) }}") }}
{% set days = days_set(changed_order_days(ref('fct_orders'), ref('stg_order_items'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'), stamp='sale_changed_in')) %}
-- Incremental by month partition: a refresh recomputes the days new loads touch (orders by their
-- sale_changed_in: refunds and product costs change no figure here), copies the other
-- days of their months from the table and replaces those months' partitions (insert_overwrite).
-- Why not delete+insert by day: the delete is a mutation that rebuilds both projections of every part
-- it touches (patch-part deletes would switch them off until merged), 1-2 s at 10M visits now that
-- late refunds recompute days of the past weeks on every refresh; a month's rows are ~150k.
-- Two aggregate projections answer the Sales dashboard's charts (shares and trends by channel / OS /
-- category, top and bottom SKUs) from about a tenth of the rows, for any period and, for the first,
-- any channel / OS / category / sales-channel filter; ClickHouse picks them itself and the result stays exact.
-- Sales per day x category x SKU x first-touch source/device/OS x geography x sales channel (the
-- order's: 'unknown' for every order when the input has none, so the figures stay as without it). Orders without item
-- lines show as category, SKU and product name "unknown" with the order's revenue and one unit.
with lines as (
    select
        o.buy_ts as buy_ts,
        o.order_id as order_id,
        o.uid as uid,
        o.first_source_id as source_id,
        o.channel as channel,
        o.channel_group as channel_group,
        o.first_device as device,
        o.first_os as os,
        o.country as country,
        o.region as region,
        o.city as city,
        o.sales_channel as sales_channel,
        if(i.order_id = o.order_id, i.category, 'unknown') as category,
        if(i.order_id = o.order_id, i.sku, 'unknown') as sku,
        if(i.order_id = o.order_id, i.product_name, '') as line_product_name,
        if(i.order_id = o.order_id, i.quantity, 1) as quantity,
        -- item prices are in the order's currency: converted at its rate, to the cent, adding up to
        -- the order's converted revenue (macros/money.sql)
        if(i.order_id = o.order_id, {{ line_in_base_currency('i.line_value', 'i.running_value', 'o.fx_rate') }},
           o.revenue) as line_revenue,
        greatest(o.sale_changed_in, i.load_id) as load_id
    from {{ ref('fct_orders') }} as o
    left join (
        select
            *,
            toDecimal64(quantity * unit_price, 2) as line_value,
            sum(line_value) over (partition by order_id order by sku, quantity, unit_price
                                  rows between unbounded preceding and current row) as running_value
        from {{ ref('stg_order_items') }}
        {% if is_incremental() %}
        where order_id in (select order_id from {{ ref('fct_orders') }} where toDate(buy_ts) in {{ days }})
        {% endif %}
    ) as i on i.order_id = o.order_id
    -- Incremental by day: only the days new loads touch are recomputed (macros/incremental_days.sql).
    {% if is_incremental() %}where toDate(o.buy_ts) in {{ days }}{% endif %}
),
recomputed as (
    select
        toDate(buy_ts) as day,
        toLowCardinality(category) as category,
        sku,
        -- The SKU's product name, not part of the grain (the greatest of its lines' names if they differ).
        toLowCardinality(if(max(line_product_name) = '', 'unknown', max(line_product_name))) as product_name,
        source_id,
        any(channel) as channel,
        any(channel_group) as channel_group,
        device,
        os,
        country,
        region,
        city,
        sales_channel,
        toUInt64(uniqExact(order_id)) as orders,
        uniqExactState(uid) as buyers_state,
        toUInt64(sum(quantity)) as units,
        sum(line_revenue) as revenue,
        max(load_id) as load_id
    from lines
    group by day, category, sku, source_id, device, os, country, region, city, sales_channel
)
select * from recomputed
{% if is_incremental() %}
union all  -- the months' other days, as stored: their partitions are replaced whole
select * from {{ this }}
where toStartOfMonth(day) in {{ months_of(days) }} and day not in {{ days }}
{% endif %}
