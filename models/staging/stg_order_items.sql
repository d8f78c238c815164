select
    order_id,
    sku,
    category,
    quantity,
    unit_price,
    product_name,
    variant,
    load_id
from {{ source('raw', 'order_items') }}
