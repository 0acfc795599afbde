// torchvision's ImageList: images of different sizes padded into one batch, with their sizes before padding.
import type { Tensor } from '@iris/torch';

export class ImageList {
  /**
   * @param tensors [N, C, H, W], each image at the top left, zero-padded
   * @param imageSizes (height, width) of each image inside the batch, after resizing
   */
  constructor(
    readonly tensors: Tensor,
    readonly imageSizes: [number, number][],
  ) {}

  to(device: string): ImageList {
    return new ImageList(this.tensors.to({ device }), this.imageSizes);
  }
}
