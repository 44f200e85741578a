-- 5: when an instance's lease was found expired (the `instance_lost` alert): set once, by the first live
-- instance that sees it, so that the loss is alerted once whichever instance notices; cleared when it renews.
ALTER TABLE instances ADD COLUMN lost_at TIMESTAMPTZ;
