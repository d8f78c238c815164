select
    order_id,
    uid,
    buy_ts,
    revenue,
    country,
    region,
    city,
    load_id
from {{ source('raw', 'orders') }}
