-- Serialise seeding and rotation: one key change at a time.
LOCK TABLE ff_keystore IN EXCLUSIVE MODE
