"""Lead data (数据): customers, households, leads, batches, import, pools, allocation,
recycling and the DNC list."""
