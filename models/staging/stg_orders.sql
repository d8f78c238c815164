select
    order_id,
    uid,
    buy_ts,
    revenue,
    country,
    region,
    city,
    toLowCardinality(if(status = '', 'completed', status)) as status,
    toLowCardinality(if(currency = '', '{{ var("base_currency") }}', currency)) as currency,
    discount,
    coupon,
    shipping,
    tax,
    toLowCardinality(if(sales_channel = '', 'unknown', sales_channel)) as sales_channel,
    load_id
from {{ source('raw', 'orders') }}
