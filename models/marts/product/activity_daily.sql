{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='day') }}
-- Active users per day (distinct users with a session), sessions and mean session length.
{{ activity_by(ref('fct_sessions'), 'toDate(start_ts)', 'day', 'dau') }}
