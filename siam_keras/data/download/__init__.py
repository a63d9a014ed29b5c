"""`download`: fetching photos from the web, guarded and polite; standard library only.

`guarded_http.GuardedFetcher` makes one HTTP(S) GET within hard limits (allowed hosts,
a deadline, a byte cap), for the downloader and for `siam_keras.serving`;
`geograph.GeographDownloader` fetches ScenicOrNot's photos from Geograph with their
attribution (`siam download-scenic-or-not`). Neither imports TensorFlow.
"""
