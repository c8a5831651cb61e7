"""The Modbus edge gateway: poll meters, average intervals, sign batches, upload through a durable outbox."""
