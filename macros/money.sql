{# An amount in an order's currency in the base currency: amount x rate, rounded to the cent (half away
   from zero), as Decimal(18, 2) like every input amount (contract section 5; base currency: rate 1,
   the amount itself). #}
{% macro to_base_currency(amount, rate) -%}
    toDecimal64(round({{ amount }} * {{ rate }}, 2), 2)
{%- endmacro %}

{# Item lines of one order in the base currency so that they add up to the order's converted amount:
   each line gets the rounded converted running total up to it minus the one before it. `value`: the
   line's amount in the order's currency; `running`: the running total of `value` over the order's
   lines up to and including this one. #}
{% macro line_in_base_currency(value, running, rate) -%}
    ({{ to_base_currency(running, rate) }} - {{ to_base_currency('(' ~ running ~ ' - ' ~ value ~ ')', rate) }})
{%- endmacro %}
