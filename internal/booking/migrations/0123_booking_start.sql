-- The figures read appointments by their start across offices.
CREATE INDEX bookings_start ON bookings (start_at);
