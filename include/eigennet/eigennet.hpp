// Everything of the eigennet core in one include: every public header of the library that
// depends on Eigen only (data formats, plots and the GPU part have their own folders).
#pragma once

#include "eigennet/types.hpp"
#include "eigennet/random.hpp"
#include "eigennet/threads.hpp"
#include "eigennet/copy_rows.hpp"

#include "eigennet/gemm/gemm.hpp"

#include "eigennet/layers/layer.hpp"
#include "eigennet/layers/activation.hpp"
#include "eigennet/layers/dense.hpp"
#include "eigennet/layers/relu.hpp"
#include "eigennet/layers/sigmoid.hpp"
#include "eigennet/layers/tanh.hpp"
#include "eigennet/layers/softmax.hpp"
#include "eigennet/layers/log_softmax.hpp"
#include "eigennet/layers/image_shape.hpp"
#include "eigennet/layers/conv2d.hpp"
#include "eigennet/layers/maxpool2d.hpp"

#include "eigennet/model/parameter.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/model/init.hpp"
#include "eigennet/model/gradcheck.hpp"

#include "eigennet/train/optimizer.hpp"
#include "eigennet/train/data_parallel.hpp"
#include "eigennet/train/train.hpp"
