"""Exchange connectors: sources, scheduled pulls (ccxt), and the real-time bar stream."""
