"""Pure kernels: plain functions over plain values, `now` passed in; no Django (checked)."""
