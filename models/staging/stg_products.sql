select
    sku,
    product_name,
    toLowCardinality(if(category = '', 'unknown', category)) as category,
    toLowCardinality(if(brand = '', 'unknown', brand)) as brand,
    unit_cost,
    load_id
from {{ source('raw', 'products') }}
