"""The ShipStation side every flow uses: which orders and labels to read, staged or fresh, and parsing
them into typed records. Raw paths and query parameters stay in `connectors.shipstation`; Pacific
time is converted there too, so everything here is aware UTC."""
