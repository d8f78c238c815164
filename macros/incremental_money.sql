{# int_order_amounts (this model: order_id, refunds, refunds_original): the orders whose money may
   differ from the stored rows, from inputs loaded after `watermark`: `orders` (new or reloaded;
   order_id, currency, buy_ts, load_id), `refunds` (order_id, amount, load_id), item lines `items`
   (order_id, sku, load_id), `products` (sku, load_id; the orders with their skus), `fx_rates`
   (currency, rate_date, load_id):
   fx rates (the orders of the currency from a new rate's day to the next rate's: the orders that use
   it, as their day's or the latest earlier rate) and, since a reloaded refund may move to another order, stored orders whose
   refunds no longer add up. Orders, refunds, items, products and rates are keyed: a reload replaces
   rows, never removes an order. #}
{% macro orders_with_changed_money(orders, refunds, items, products, fx_rates, watermark) -%}
    (select order_id from {{ orders }} where load_id > {{ watermark }}
     union distinct
     select order_id from {{ refunds }} where load_id > {{ watermark }}
     union distinct
     select order_id from {{ items }}
     where load_id > {{ watermark }}
        or sku in (select sku from {{ products }} where load_id > {{ watermark }})
     union distinct
     select o.order_id from {{ orders }} as o
     inner join (
         select * from (
             select currency, rate_date as since, load_id,
                    leadInFrame(toNullable(rate_date)) over (partition by currency order by rate_date
                                                             rows between current row and 1 following) as until
             from {{ fx_rates }})
         where load_id > {{ watermark }}
     ) as n on n.currency = o.currency
     where toDate(o.buy_ts) >= n.since and (n.until is null or toDate(o.buy_ts) < n.until)
     {%- if is_incremental() %}
     union distinct
     select order_id from {{ this }}
     where refunds > 0
       and (order_id, refunds_original) not in (select order_id, sum(amount) from {{ refunds }} group by order_id)
     {%- endif -%})
{%- endmacro %}
