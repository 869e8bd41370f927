16523.047 guest connected
