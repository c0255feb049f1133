"""The outside world behind small interfaces: processors, brokers, the clock."""
