package awsorg

// ClientsKept is how many Organizations clients c keeps (one per payer it called for).
func (c *Client) ClientsKept() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.clients)
}
